/** The package version (kept equal to package.json and the crates' version by test/package.test.ts). */
export const VERSION = '0.1.0';
