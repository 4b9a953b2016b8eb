#ifndef CHTTP_H
#define CHTTP_H
#endif
