import type * as tfc from '@tensorflow/tfjs-core';

/**
 * The TensorFlow.js namespace this package works with: `@tensorflow/tfjs-core`, or any module that
 * re-exports it (`@tensorflow/tfjs`, `@tensorflow/tfjs-node`, `@tensorflow/tfjs-node-gpu`).
 */
export type Tf = typeof tfc;

/** A TensorFlow.js tensor. */
export type Tensor = tfc.Tensor;
