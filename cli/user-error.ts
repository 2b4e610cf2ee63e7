/** A mistake the user can fix (a missing key, an unreachable API, a bad argument): printed as one line. */
export class UserError extends Error {
  override name = "UserError";
}
