#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include "context.hpp"

namespace esc::cli {

// The heap in transparent huge pages, where the kernel offers them; called
// once, before a command first opens the database (Context::store). Built
// into esc's own builds only (ESC_HEAP_IN_HUGE_PAGES in CMakeLists.txt): the
// sanitizers bring allocators of their own.
//
// On the virtual machines esc is measured on, the first touch of each 4 KiB
// page of memory costs about 10 µs (a page fault): `due` and `stats`, which
// build a few megabytes of rows, spent a third of their time there, and every
// command a millisecond. A 2 MiB huge page costs about 0.1 ms to fault in.
// malloc takes the heap from the top of the program break; from here on it
// grows 16 MiB at a time, from a 2 MiB boundary, and that range is marked
// MADV_HUGEPAGE (address space: memory is only what is touched, a huge page
// at a time). What malloc returns is unchanged: the gap up to the boundary
// is one block, allocated and kept (never touched), and if the heap is not
// laid out as expected the advice is not given, or lands on memory that is
// never used.
void heap_in_huge_pages() {
#ifdef ESC_HEAP_IN_HUGE_PAGES
  static void* gap = nullptr;  // kept: the heap goes on above it
  if (gap) return;
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  const std::uintptr_t top = mallinfo2().keepcost;  // the free space at the top of the heap
  const auto end = reinterpret_cast<std::uintptr_t>(sbrk(0));
  if (top == 0 || top > end) return;
  const std::uintptr_t top_start = end - top;
  // At least 64 KiB away, so that the gap block is larger than any free one.
  const std::uintptr_t boundary = (top_start + (64 << 10) + kHuge - 1) & ~(kHuge - 1);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);  // the gap block comes from the heap, not mmap
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  mallopt(M_TOP_PAD, 8 * kHuge);
  // One chunk from the top's start to 16 bytes short of the boundary (its
  // 8-byte size field included): the chunk after it, where the heap goes on,
  // keeps its header just below the boundary. Written before the advice,
  // a header above it would put a small page where the first huge one goes.
  gap = malloc(boundary - 16 - top_start - 8);
  if (!gap) return;
  const std::uintptr_t grown = reinterpret_cast<std::uintptr_t>(sbrk(0)) & ~(kHuge - 1);
  if (grown > boundary) madvise(reinterpret_cast<void*>(boundary), grown - boundary, MADV_HUGEPAGE);
#endif
}

}  // namespace esc::cli
