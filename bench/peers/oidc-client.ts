/** The one confidential client of the oidc-provider peer (client_secret_post), shared by its server and the load. */
export const CLIENT = { client_id: 'bench', client_secret: 'bench-secret-bench-secret-bench-secret' }
