/**
 * A boolean query parameter as the API server reads it (apimachinery's
 * Convert_Slice_string_To_bool): absent is false, "0" and "false" in any case are false, and
 * any other value — "true", "True", "1", even an empty one — is true.
 */
export function queryFlag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value !== null && value !== "0" && value.toLowerCase() !== "false";
}
