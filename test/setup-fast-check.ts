/**
 * fast-check for every test file. In CI a failing property reports its
 * counterexample at once instead of shrinking it: shrinking a property that
 * syncs a database on every run can outlast the test's timeout, and a timeout
 * says nothing about what failed. Locally, counterexamples are shrunk.
 */
import fc from 'fast-check';

if (process.env.CI) fc.configureGlobal({ endOnFailure: true });
