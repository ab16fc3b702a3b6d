/* The `nvme-bench` load generator. */
#include "nvme.h"

void test_nvme_bench(void)
{
    if (!nvme_probe()) return;
    kprintf("KIT nvme-bench fail not implemented yet");
}
