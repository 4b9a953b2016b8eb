#ifndef CArchive_H
#define CArchive_H
#endif
