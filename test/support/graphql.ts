export { GqlClient, type GqlError, type GqlResponse } from '../../scripts/lib/gql-client';
