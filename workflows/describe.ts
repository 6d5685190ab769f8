export { describeRef } from '../src/core/names.js';
