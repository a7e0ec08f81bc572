/** A network as NetworkRepository reads it; the GraphQL `Network` is built from it at the edge (network.mapper.ts). */
export interface NetworkRecord {
  readonly id: string;
  /** 2 to 40 of a-z, 0-9 and -. */
  readonly slug: string;
  readonly name: string;
  readonly createdAt: Date;
}
