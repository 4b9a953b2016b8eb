#ifndef CDIGEST_H
#define CDIGEST_H
#include <stddef.h>
#include <stdint.h>

// Streaming SHA-256 and SHA-512 through OpenSSL's libcrypto (EVP), which uses
// the CPU's SHA extensions where it has them. Prefix cd_.
typedef struct cd_hasher cd_hasher;

// algorithm: "sha256" or "sha512"; NULL when unknown or out of memory.
cd_hasher *cd_hasher_new(const char *algorithm);
void cd_hasher_update(cd_hasher *h, const void *data, size_t len);
// Writes the digest (32 or 64 bytes) to out, returns its length; the hasher
// may not be updated afterwards.
int cd_hasher_final(cd_hasher *h, uint8_t *out);
// A copy of the state so far (to checkpoint a resumable ingest).
cd_hasher *cd_hasher_copy(const cd_hasher *h);
void cd_hasher_free(cd_hasher *h);

#endif
