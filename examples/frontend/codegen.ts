// GraphQL Code Generator for a frontend: typed operations (client-preset) against the supergraph's API
// schema, schema/api.graphql, which `pnpm compose` writes. `pnpm codegen:client` (re)writes src/gql/,
// `pnpm codegen:client:check` fails when the committed output is stale (CI runs it).
// In an app of your own, copy this file and point `schema` at the gateway's URL or a copy of api.graphql.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../schema/api.graphql',
  documents: ['src/**/*.ts', '!src/gql/**'],
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: {
        // No fragment masking, so the example reads nested fields directly; turn it on in a component tree.
        fragmentMasking: false,
      },
      config: {
        // `./graphql.js`, not `./graphql`: the example compiles as ES modules (module: nodenext).
        emitLegacyCommonJSImports: false,
        // `import type`: the repository compiles with verbatimModuleSyntax.
        useTypeImports: true,
        enumsAsTypes: true,
        // What the gateway sends for our custom scalars: ISO strings on the wire.
        scalars: {
          DateTime: 'string',
          Date: 'string',
          LocalTime: 'string',
        },
      },
    },
  },
};

export default config;
