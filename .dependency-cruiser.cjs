// The folder graph has no cycle (README, "Layering"): `npm run lint` runs this after eslint, which checks
// the layering rules file by file. Type-only imports count (a cycle of types is still a cycle); tests are
// left out (a test may reach any layer it proves).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      severity: 'error',
      comment: 'A folder that depends on a folder that depends on it: move what both need below both.',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '(^|/)test/', '\\.test\\.ts$', '^\\.tools/', '^\\.state/'] },
  },
};
