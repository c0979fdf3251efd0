// Arrays in anonymous shared memory, made before fork so the master and every worker see the
// same objects (the scoreboard, the app table).
#pragma once

#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>
#include <sys/mman.h>

namespace core {

// Zero-filled and untouched: a page gets memory when first written.
inline void *shared_bytes(size_t n, const char *what) {
    void *mem = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw std::runtime_error(std::string("cannot map the ") + what);
    return mem;
}

template <class T> T *shared_array(size_t n, const char *what) {
    T *a = static_cast<T *>(shared_bytes(sizeof(T) * n, what));
    for (size_t i = 0; i < n; ++i) new (&a[i]) T();
    return a;
}

}  // namespace core
