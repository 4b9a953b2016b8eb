#ifndef CHTTP_H
#define CHTTP_H
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>

// Thin wrappers over libcurl for Swift: curl_easy_setopt and curl_easy_getinfo
// are variadic, which Swift cannot call. Prefix ch_.

typedef size_t (*ch_data_fn)(char *ptr, size_t size, size_t nmemb, void *userdata);

// Once per process, before any thread uses curl (curl_global_init is not thread-safe).
int ch_global_init(void);

int ch_setopt_long(CURL *h, CURLoption opt, long value);
int ch_setopt_off(CURL *h, CURLoption opt, curl_off_t value);
int ch_setopt_str(CURL *h, CURLoption opt, const char *value);
int ch_setopt_ptr(CURL *h, CURLoption opt, void *value);
int ch_setopt_slist(CURL *h, CURLoption opt, struct curl_slist *list);
int ch_setopt_fn(CURL *h, CURLoption opt, ch_data_fn fn);
// CURLOPT_CAINFO_BLOB: PEM bytes copied by curl.
int ch_setopt_blob(CURL *h, CURLoption opt, const void *data, size_t len);

long ch_getinfo_long(CURL *h, CURLINFO info);
curl_off_t ch_getinfo_off(CURL *h, CURLINFO info);
// Borrowed from the handle; valid until the next transfer or cleanup.
const char *ch_getinfo_str(CURL *h, CURLINFO info);

#endif
