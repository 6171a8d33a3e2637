import convexPlugin from '@convex-dev/eslint-plugin'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/', 'convex/_generated/', 'scripts/', '.stryker-tmp/', 'reports/'] },
  ...tseslint.configs.recommended,
  ...convexPlugin.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
)
