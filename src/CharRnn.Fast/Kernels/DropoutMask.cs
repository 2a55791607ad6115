namespace CharRnn.Fast.Kernels;

/// <summary>
/// Masks of inverted dropout (PyTorch's: a unit is kept with probability 1 − p and then scaled by 1/(1 − p)) drawn from a
/// counter-based generator: the mask of (optimizer step, layer, stream, time step) is a hash of those numbers and the
/// seed, so it does not depend on how streams are split among threads, and a resumed run redraws exactly the masks an
/// uninterrupted one would from its step count alone. p is applied at a resolution of 1/65536.
/// </summary>
internal static class DropoutMask
{
    /// <summary>mask[u] = keep(u) ? 1/(1 − p) : 0 for every unit of <paramref name="mask"/> ([H]).</summary>
    public static void Fill(Span<float> mask, float p, ulong seed, long step, int layer, long stream, int time)
    {
        uint threshold = (uint)Math.Round(p * 65536.0);
        float scale = 1f / (1f - p);
        ulong key = Mix(seed ^ Mix((ulong)step ^ Mix((ulong)layer ^ Mix((ulong)stream ^ Mix((ulong)time)))));
        for (int u = 0, chunk = 0; u < mask.Length; chunk++)
        {
            ulong bits = Mix(key + (ulong)chunk * 0x9E3779B97F4A7C15UL);
            for (int lane = 0; lane < 4 && u < mask.Length; lane++, u++, bits >>= 16)
                mask[u] = (bits & 0xFFFF) >= threshold ? scale : 0f;
        }
    }

    // One SplitMix64 step: add the golden-ratio increment, then its bijective finalizer.
    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
