// Operations of the example frontend, written with the generated `graphql()`: each returns a
// TypedDocumentNode, so its result and variables are typed from schema/api.graphql.
import { graphql } from './gql/index.js';

/** One query across three features: the user (auth), their bookings (booking) and each payment (payment). */
export const MyBookings = graphql(`
  query MyBookings($first: Int = 10, $after: String) {
    me {
      email
      bookings(first: $first, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          status
          startsAt
          site {
            name
            timeZone
          }
          service {
            name
          }
          price {
            amountCents
            currency
          }
          payment {
            status
          }
        }
      }
    }
  }
`);
