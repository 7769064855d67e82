import { Kind, parse, type ConstDirectiveNode } from 'graphql';

export interface SubgraphEndpoint {
  name: string;
  url: string;
}

/** The subgraphs a supergraph routes to, read from its `join__Graph` enum (any composed supergraph has one). */
export function subgraphsOf(supergraphSdl: string): SubgraphEndpoint[] {
  const doc = parse(supergraphSdl);
  const out: SubgraphEndpoint[] = [];
  for (const def of doc.definitions) {
    if (def.kind !== Kind.ENUM_TYPE_DEFINITION || def.name.value !== 'join__Graph') continue;
    for (const value of def.values ?? []) {
      const directive = value.directives?.find((d) => d.name.value === 'join__graph');
      const name = stringArg(directive, 'name');
      const url = stringArg(directive, 'url');
      if (name && url) out.push({ name, url });
    }
  }
  return out;
}

function stringArg(directive: ConstDirectiveNode | undefined, arg: string): string | undefined {
  const v = directive?.arguments?.find((a) => a.name.value === arg)?.value;
  return v?.kind === Kind.STRING ? v.value : undefined;
}
