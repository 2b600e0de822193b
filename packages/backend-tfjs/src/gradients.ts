/**
 * `@tensorflow/tfjs-core` alone registers no gradients (the `@tensorflow/tfjs` bundle does). This
 * side-effect import registers them all; the build inlines it (its files are extensionless ESM
 * that Node cannot load directly), exactly as `@tensorflow/tfjs`'s own Node bundle does.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
