// Imported by the test workers: registers every built-in kind and the test-only toy kind.
import '@staircase/ladder';
import '@staircase/staircase';
import { registerModelKind } from '@staircase/core';
import { toyBigramKind } from '../../src/toy-model.js';

registerModelKind(toyBigramKind);
