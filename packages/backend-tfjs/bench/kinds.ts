// Imported by the bench's workers: registers the built-in model kinds.
import '@staircase/ladder';
import '@staircase/staircase';
