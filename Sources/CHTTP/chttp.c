#include "chttp.h"

int ch_global_init(void) { return (int)curl_global_init(CURL_GLOBAL_ALL); }

int ch_setopt_long(CURL *h, CURLoption opt, long value) { return (int)curl_easy_setopt(h, opt, value); }
int ch_setopt_off(CURL *h, CURLoption opt, curl_off_t value) { return (int)curl_easy_setopt(h, opt, value); }
int ch_setopt_str(CURL *h, CURLoption opt, const char *value) { return (int)curl_easy_setopt(h, opt, value); }
int ch_setopt_ptr(CURL *h, CURLoption opt, void *value) { return (int)curl_easy_setopt(h, opt, value); }
int ch_setopt_slist(CURL *h, CURLoption opt, struct curl_slist *list) { return (int)curl_easy_setopt(h, opt, list); }
int ch_setopt_fn(CURL *h, CURLoption opt, ch_data_fn fn) { return (int)curl_easy_setopt(h, opt, fn); }

int ch_setopt_blob(CURL *h, CURLoption opt, const void *data, size_t len) {
    struct curl_blob blob = { (void *)data, len, CURL_BLOB_COPY };
    return (int)curl_easy_setopt(h, opt, &blob);
}

long ch_getinfo_long(CURL *h, CURLINFO info) {
    long v = 0;
    if (curl_easy_getinfo(h, info, &v) != CURLE_OK) return -1;
    return v;
}

curl_off_t ch_getinfo_off(CURL *h, CURLINFO info) {
    curl_off_t v = -1;
    if (curl_easy_getinfo(h, info, &v) != CURLE_OK) return -1;
    return v;
}

const char *ch_getinfo_str(CURL *h, CURLINFO info) {
    const char *v = NULL;
    if (curl_easy_getinfo(h, info, &v) != CURLE_OK) return NULL;
    return v;
}
