// Arrays in anonymous shared memory, made before fork so the master and every worker see the
// same objects (the scoreboard, the app table).
#pragma once

#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>
#include <sys/mman.h>

namespace core {

template <class T> T *shared_array(size_t n, const char *what) {
    void *mem = mmap(nullptr, sizeof(T) * n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    if (mem == MAP_FAILED) throw std::runtime_error(std::string("cannot map the ") + what);
    T *a = static_cast<T *>(mem);
    for (size_t i = 0; i < n; ++i) new (&a[i]) T();
    return a;
}

}  // namespace core
