// The waiting helpers live beside the conformance suites that ship them (src/conformance/wait.ts);
// the repository's own tests keep importing them from here.
export * from '../../src/conformance/wait.js';
