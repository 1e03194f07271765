// The processor's prefetch, which Swift does not expose: a hint to bring a cache line in
// without waiting for it (FlowKit's NameTable). Nothing to link.
static inline void flow_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}
