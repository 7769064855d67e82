/** Types for the local ESLint plugin (boundaries.js), so TypeScript tests can load its rules. */
import type { ESLint, Rule } from 'eslint';

declare const plugin: ESLint.Plugin & {
  rules: Record<'feature-boundaries' | 'prisma-in-repositories', Rule.RuleModule>;
};
export default plugin;
