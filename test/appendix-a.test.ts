import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildSchema,
  type FieldDefinitionNode,
  GraphQLEnumType,
  GraphQLObjectType,
  type InputValueDefinitionNode,
  Kind,
  parse,
  print,
  type TypeNode,
} from 'graphql';

/**
 * Every type, field, argument and enum of SPEC Appendix A (copied verbatim into
 * test/fixtures/appendix-a.graphql) is in the committed schema with exactly the pinned types
 * and argument order. More optional arguments and more fields are allowed.
 */
const appendix = parse(readFileSync(join(__dirname, 'fixtures', 'appendix-a.graphql'), 'utf8'));
const schema = buildSchema(readFileSync(join(__dirname, '..', 'schema.graphql'), 'utf8'));

function typeText(node: TypeNode): string {
  return print(node);
}

function args(field: FieldDefinitionNode): string[] {
  return (field.arguments ?? []).map((a: InputValueDefinitionNode) => `${a.name.value}: ${typeText(a.type)}`);
}

/** Values Appendix B adds to Appendix A's enums ("where this appendix and an earlier section disagree, this one stands"). */
const APPENDIX_B_VALUES: Readonly<Record<string, readonly string[]>> = {
  // B.1: claims end by themselves.
  ExchangeStatus: ['EXPIRED', 'WITHDRAWN'],
};

const objects = appendix.definitions.filter((d) => d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION);
const enums = appendix.definitions.filter((d) => d.kind === Kind.ENUM_TYPE_DEFINITION);
const scalars = appendix.definitions.filter((d) => d.kind === Kind.SCALAR_TYPE_DEFINITION);

describe('SPEC Appendix A in schema.graphql', () => {
  it.each(scalars.map((d) => [d.name.value]))('declares scalar %s', (name) => {
    expect(schema.getType(name)?.toString()).toBe(name);
  });

  it.each(enums.map((d) => [d.name.value, d]))(
    'has enum %s with exactly the pinned values (and those Appendix B adds)',
    (name, definition) => {
      const type = schema.getType(name);
      expect(type).toBeInstanceOf(GraphQLEnumType);
      const pinned = (definition as { values?: readonly { name: { value: string } }[] }).values?.map((v) => v.name.value) ?? [];
      expect(
        (type as GraphQLEnumType)
          .getValues()
          .map((v) => v.name)
          .sort(),
      ).toEqual([...pinned, ...(APPENDIX_B_VALUES[name] ?? [])].sort());
    },
  );

  const fields = objects.flatMap((definition) =>
    ((definition as { fields?: readonly FieldDefinitionNode[] }).fields ?? []).map(
      (field) => [`${definition.name.value}.${field.name.value}`, definition.name.value, field] as const,
    ),
  );

  it.each(fields)('has %s with the pinned type and arguments', (_label, typeName, field) => {
    const type = schema.getType(typeName) as GraphQLObjectType | undefined;
    expect(type).toBeDefined();
    const actual = type?.getFields()[field.name.value];
    expect(actual).toBeDefined();
    expect(String(actual?.type)).toBe(typeText(field.type));
    const pinnedArgs = args(field);
    const actualArgs = ((actual as { args?: readonly { name: string; type: unknown }[] } | undefined)?.args ?? []).map(
      (a) => `${a.name}: ${String(a.type)}`,
    );
    expect(actualArgs.slice(0, pinnedArgs.length)).toEqual(pinnedArgs);
    for (const extra of ((actual as { args?: readonly { type: unknown }[] } | undefined)?.args ?? []).slice(pinnedArgs.length)) {
      expect(String(extra.type).endsWith('!')).toBe(false);
    }
  });

  it('has an Offer and a Request with at least id party title category description hours open exchange', () => {
    for (const name of ['Offer', 'Request']) {
      const type = schema.getType(name) as GraphQLObjectType;
      expect(Object.keys(type.getFields())).toEqual(
        expect.arrayContaining(['id', 'party', 'title', 'category', 'description', 'hours', 'open', 'exchange']),
      );
    }
  });
});
