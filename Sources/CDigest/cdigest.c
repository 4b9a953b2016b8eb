#include "cdigest.h"
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct cd_hasher { EVP_MD_CTX *ctx; };

cd_hasher *cd_hasher_new(const char *algorithm) {
    const EVP_MD *md = NULL;
    if (strcmp(algorithm, "sha256") == 0) md = EVP_sha256();
    else if (strcmp(algorithm, "sha512") == 0) md = EVP_sha512();
    if (md == NULL) return NULL;
    cd_hasher *h = calloc(1, sizeof *h);
    if (h == NULL) return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
        EVP_MD_CTX_free(h->ctx);
        free(h);
        return NULL;
    }
    return h;
}

void cd_hasher_update(cd_hasher *h, const void *data, size_t len) { EVP_DigestUpdate(h->ctx, data, len); }

int cd_hasher_final(cd_hasher *h, uint8_t *out) {
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, out, &n);
    return (int)n;
}

cd_hasher *cd_hasher_copy(const cd_hasher *h) {
    cd_hasher *c = calloc(1, sizeof *c);
    if (c == NULL) return NULL;
    c->ctx = EVP_MD_CTX_new();
    if (c->ctx == NULL || EVP_MD_CTX_copy_ex(c->ctx, h->ctx) != 1) {
        EVP_MD_CTX_free(c->ctx);
        free(c);
        return NULL;
    }
    return c;
}

void cd_hasher_free(cd_hasher *h) {
    if (h == NULL) return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}
