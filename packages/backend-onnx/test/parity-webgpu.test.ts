import { parityTests } from './parity.js';

parityTests('webgpu');
