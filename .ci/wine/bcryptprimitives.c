/* Test-only stand-in for Windows 10's bcryptprimitives.dll, so that CI can
 * run the Windows build under Debian's wine 8, which lacks ProcessPrng (Rust's
 * standard library asks for it at start-up; wine provides it from 9.0 on).
 * It is placed beside wasm-forest.exe in a scratch directory of the test run
 * only and never shipped: on Windows the system's own DLL serves.
 *
 * ProcessPrng fills `data` with `len` random bytes; here from RtlGenRandom
 * (advapi32's SystemFunction036), which wine 8 has. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
