import { parityTests } from './parity.js';

parityTests('wasm');
