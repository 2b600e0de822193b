import { parityTests } from './parity.js';

parityTests('cpu');
