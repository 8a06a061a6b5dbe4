// oidc-provider ships no type declarations; the bench uses it through this loose one.
declare module 'oidc-provider' {
  // biome-ignore lint/suspicious/noExplicitAny: an untyped third-party class, used by the bench only
  const Provider: any
  export default Provider
}
