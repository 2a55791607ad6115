using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// The element-wise part of the gated cells, for one stream and a range of units, right after the step's GEMM has put
/// the gate pre-activations in place (PyTorch's gate order, gate blocks <c>stride</c> = H floats apart). σ(x) is
/// ½·tanh(x/2) + ½ on <see cref="TanhApproximation"/> (absolute error below 1e-6). Spans start at the first unit of
/// the range; every one holds at least <c>count</c> units (gate spans: (G − 1)·stride + count floats).
/// </summary>
internal static class CellKernels
{
    /// <summary>
    /// LSTM: (i, f, g, o) = (σ, σ, tanh, σ)(gates), written back in place; c = f⊙cPrev + i⊙g; h = o⊙tanh(c).
    /// </summary>
    public static void LstmForward(KernelPolicy policy, Span<float> gates, int stride, ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h, int count)
    {
        Check(gates, 4, stride, count); Check(cPrev, count); Check(c, count); Check(h, count);
        ref float g = ref MemoryMarshal.GetReference(gates);
        ref float cp = ref MemoryMarshal.GetReference(cPrev);
        ref float cr = ref MemoryMarshal.GetReference(c);
        ref float hr = ref MemoryMarshal.GetReference(h);
        int done = policy.Path switch
        {
            VectorPath.V512 => LstmForward<Simd512, Vector512<float>>(ref g, stride, ref cp, ref cr, ref hr, 0, count),
            VectorPath.V256 => LstmForward<Simd256, Vector256<float>>(ref g, stride, ref cp, ref cr, ref hr, 0, count),
            VectorPath.V128 => LstmForward<Simd128, Vector128<float>>(ref g, stride, ref cp, ref cr, ref hr, 0, count),
            _ => 0,
        };
        LstmForward<SimdScalar, float>(ref g, stride, ref cp, ref cr, ref hr, done, count);
    }

    /// <summary>
    /// LSTM backward, from dh (the gradient at h, all paths summed) and dc (at c from the step after; replaced by the
    /// gradient at cPrev, dc⊙f): dgates = (di·i(1−i), df·f(1−f), dg·(1−g²), do·o(1−o)) with do = dh⊙tanh(c),
    /// dc += dh⊙o⊙(1 − tanh²c), di = dc⊙g, df = dc⊙cPrev, dg = dc⊙i. <paramref name="gates"/> holds (i, f, g, o);
    /// <paramref name="dGates"/> may be the same span (each vector of units is read before its gradients are stored).
    /// </summary>
    public static void LstmBackward(KernelPolicy policy, ReadOnlySpan<float> gates, int stride, ReadOnlySpan<float> c, ReadOnlySpan<float> cPrev,
        ReadOnlySpan<float> dh, Span<float> dc, Span<float> dGates, int count)
    {
        Check(gates, 4, stride, count); Check(dGates, 4, stride, count); Check(c, count); Check(cPrev, count); Check(dh, count); Check(dc, count);
        ref float g = ref MemoryMarshal.GetReference(gates);
        ref float cr = ref MemoryMarshal.GetReference(c);
        ref float cp = ref MemoryMarshal.GetReference(cPrev);
        ref float dhr = ref MemoryMarshal.GetReference(dh);
        ref float dcr = ref MemoryMarshal.GetReference(dc);
        ref float dg = ref MemoryMarshal.GetReference(dGates);
        int done = policy.Path switch
        {
            VectorPath.V512 => LstmBackward<Simd512, Vector512<float>>(ref g, stride, ref cr, ref cp, ref dhr, ref dcr, ref dg, 0, count),
            VectorPath.V256 => LstmBackward<Simd256, Vector256<float>>(ref g, stride, ref cr, ref cp, ref dhr, ref dcr, ref dg, 0, count),
            VectorPath.V128 => LstmBackward<Simd128, Vector128<float>>(ref g, stride, ref cr, ref cp, ref dhr, ref dcr, ref dg, 0, count),
            _ => 0,
        };
        LstmBackward<SimdScalar, float>(ref g, stride, ref cr, ref cp, ref dhr, ref dcr, ref dg, done, count);
    }

    /// <summary>
    /// GRU: r = σ(x_r + rec_r), z = σ(x_z + rec_z), nh = rec_n + b_hn, n = tanh(x_n + r⊙nh), h = (1 − z)⊙n + z⊙hPrev;
    /// (r, z, n) written to <paramref name="gates"/>, which may be the same span as <paramref name="x"/>.
    /// </summary>
    /// <param name="x">input term W_ih·x + bias, gates r, z, n</param>
    /// <param name="rec">recurrent term W_hh·hPrev, gates r, z, n</param>
    public static void GruForward(KernelPolicy policy, ReadOnlySpan<float> x, ReadOnlySpan<float> rec, int stride, ReadOnlySpan<float> bhn, ReadOnlySpan<float> hPrev,
        Span<float> gates, Span<float> nh, Span<float> h, int count)
    {
        Check(x, 3, stride, count); Check(rec, 3, stride, count); Check(gates, 3, stride, count);
        Check(bhn, count); Check(hPrev, count); Check(nh, count); Check(h, count);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float rr = ref MemoryMarshal.GetReference(rec);
        ref float br = ref MemoryMarshal.GetReference(bhn);
        ref float hp = ref MemoryMarshal.GetReference(hPrev);
        ref float gr = ref MemoryMarshal.GetReference(gates);
        ref float nr = ref MemoryMarshal.GetReference(nh);
        ref float hr = ref MemoryMarshal.GetReference(h);
        int done = policy.Path switch
        {
            VectorPath.V512 => GruForward<Simd512, Vector512<float>>(ref xr, ref rr, stride, ref br, ref hp, ref gr, ref nr, ref hr, 0, count),
            VectorPath.V256 => GruForward<Simd256, Vector256<float>>(ref xr, ref rr, stride, ref br, ref hp, ref gr, ref nr, ref hr, 0, count),
            VectorPath.V128 => GruForward<Simd128, Vector128<float>>(ref xr, ref rr, stride, ref br, ref hp, ref gr, ref nr, ref hr, 0, count),
            _ => 0,
        };
        GruForward<SimdScalar, float>(ref xr, ref rr, stride, ref br, ref hp, ref gr, ref nr, ref hr, done, count);
    }

    /// <summary>
    /// GRU backward from dh (the gradient at h from above and from the next step's W_hh product): with
    /// dn = dh⊙(1 − z), da_n = dn⊙(1 − n²), dr = da_n⊙nh: the input side's gate gradients
    /// (dr·r(1−r), dz·z(1−z), da_n) with dz = dh⊙(hPrev − n), the recurrent side's (the same r and z, and da_n⊙r for
    /// W_hn and b_hn), and <paramref name="dhPrev"/> += dh⊙z, the direct path to hPrev. <paramref name="dInput"/> may
    /// be the same span as <paramref name="gates"/>.
    /// </summary>
    public static void GruBackward(KernelPolicy policy, ReadOnlySpan<float> gates, int stride, ReadOnlySpan<float> nh, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> dh, Span<float> dInput, Span<float> dRecurrent, Span<float> dhPrev, int count)
    {
        Check(gates, 3, stride, count); Check(dInput, 3, stride, count); Check(dRecurrent, 3, stride, count);
        Check(nh, count); Check(hPrev, count); Check(dh, count); Check(dhPrev, count);
        ref float gr = ref MemoryMarshal.GetReference(gates);
        ref float nr = ref MemoryMarshal.GetReference(nh);
        ref float hp = ref MemoryMarshal.GetReference(hPrev);
        ref float dhr = ref MemoryMarshal.GetReference(dh);
        ref float di = ref MemoryMarshal.GetReference(dInput);
        ref float dr = ref MemoryMarshal.GetReference(dRecurrent);
        ref float dp = ref MemoryMarshal.GetReference(dhPrev);
        int done = policy.Path switch
        {
            VectorPath.V512 => GruBackward<Simd512, Vector512<float>>(ref gr, stride, ref nr, ref hp, ref dhr, ref di, ref dr, ref dp, 0, count),
            VectorPath.V256 => GruBackward<Simd256, Vector256<float>>(ref gr, stride, ref nr, ref hp, ref dhr, ref di, ref dr, ref dp, 0, count),
            VectorPath.V128 => GruBackward<Simd128, Vector128<float>>(ref gr, stride, ref nr, ref hp, ref dhr, ref di, ref dr, ref dp, 0, count),
            _ => 0,
        };
        GruBackward<SimdScalar, float>(ref gr, stride, ref nr, ref hp, ref dhr, ref di, ref dr, ref dp, done, count);
    }

    private static void Check(ReadOnlySpan<float> span, int count)
    {
        if (span.Length < count) throw new ArgumentException($"a cell operand holds {span.Length} floats, needs {count}");
    }

    private static void Check(ReadOnlySpan<float> gates, int blocks, int stride, int count)
    {
        if (count > stride || gates.Length < (long)(blocks - 1) * stride + count) throw new ArgumentException($"gate operand holds {gates.Length} floats, needs {blocks} blocks of {count} units {stride} apart");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Sigmoid<TS, TV>(TV x) where TS : ISimd<TV> where TV : struct
    {
        TV half = TS.Create(0.5f);
        return TS.MultiplyAdd(half, TanhApproximation.Tanh<TS, TV>(TS.Multiply(half, x)), half);
    }

    // Each loop runs whole vectors of TS from `start` and returns where it stopped; the scalar instantiation finishes the tail.
    private static int LstmForward<TS, TV>(ref float gates, nint stride, ref float cPrev, ref float c, ref float h, int start, int count)
        where TS : ISimd<TV> where TV : struct
    {
        int u = start;
        for (; u <= count - TS.Count; u += TS.Count)
        {
            ref float gi = ref Unsafe.Add(ref gates, u);
            ref float gf = ref Unsafe.Add(ref gi, stride);
            ref float gg = ref Unsafe.Add(ref gf, stride);
            ref float go = ref Unsafe.Add(ref gg, stride);
            TV i = Sigmoid<TS, TV>(TS.Load(in gi)), f = Sigmoid<TS, TV>(TS.Load(in gf));
            TV g = TanhApproximation.Tanh<TS, TV>(TS.Load(in gg)), o = Sigmoid<TS, TV>(TS.Load(in go));
            TV cv = TS.MultiplyAdd(f, TS.Load(in Unsafe.Add(ref cPrev, u)), TS.Multiply(i, g));
            TS.Store(i, ref gi); TS.Store(f, ref gf); TS.Store(g, ref gg); TS.Store(o, ref go);
            TS.Store(cv, ref Unsafe.Add(ref c, u));
            TS.Store(TS.Multiply(o, TanhApproximation.Tanh<TS, TV>(cv)), ref Unsafe.Add(ref h, u));
        }
        return u;
    }

    private static int LstmBackward<TS, TV>(ref float gates, nint stride, ref float c, ref float cPrev, ref float dh, ref float dc, ref float dGates, int start, int count)
        where TS : ISimd<TV> where TV : struct
    {
        TV one = TS.Create(1f);
        int u = start;
        for (; u <= count - TS.Count; u += TS.Count)
        {
            ref float gi = ref Unsafe.Add(ref gates, u);
            TV i = TS.Load(in gi), f = TS.Load(in Unsafe.Add(ref gi, stride)), g = TS.Load(in Unsafe.Add(ref gi, 2 * stride)), o = TS.Load(in Unsafe.Add(ref gi, 3 * stride));
            TV dhv = TS.Load(in Unsafe.Add(ref dh, u));
            TV tc = TanhApproximation.Tanh<TS, TV>(TS.Load(in Unsafe.Add(ref c, u)));
            // dc_total = dc + dh⊙o⊙(1 − tanh²c)
            TV dcv = TS.MultiplyAdd(TS.Multiply(dhv, o), TS.Subtract(one, TS.Multiply(tc, tc)), TS.Load(in Unsafe.Add(ref dc, u)));
            ref float di = ref Unsafe.Add(ref dGates, u);
            TS.Store(TS.Multiply(TS.Multiply(dcv, g), TS.Multiply(i, TS.Subtract(one, i))), ref di);
            TS.Store(TS.Multiply(TS.Multiply(dcv, TS.Load(in Unsafe.Add(ref cPrev, u))), TS.Multiply(f, TS.Subtract(one, f))), ref Unsafe.Add(ref di, stride));
            TS.Store(TS.Multiply(TS.Multiply(dcv, i), TS.Subtract(one, TS.Multiply(g, g))), ref Unsafe.Add(ref di, 2 * stride));
            TS.Store(TS.Multiply(TS.Multiply(dhv, tc), TS.Multiply(o, TS.Subtract(one, o))), ref Unsafe.Add(ref di, 3 * stride));
            TS.Store(TS.Multiply(dcv, f), ref Unsafe.Add(ref dc, u));
        }
        return u;
    }

    private static int GruForward<TS, TV>(ref float x, ref float rec, nint stride, ref float bhn, ref float hPrev, ref float gates, ref float nh, ref float h, int start, int count)
        where TS : ISimd<TV> where TV : struct
    {
        TV one = TS.Create(1f);
        int u = start;
        for (; u <= count - TS.Count; u += TS.Count)
        {
            ref float xr = ref Unsafe.Add(ref x, u);
            ref float rr = ref Unsafe.Add(ref rec, u);
            TV r = Sigmoid<TS, TV>(TS.Add(TS.Load(in xr), TS.Load(in rr)));
            TV z = Sigmoid<TS, TV>(TS.Add(TS.Load(in Unsafe.Add(ref xr, stride)), TS.Load(in Unsafe.Add(ref rr, stride))));
            TV nhv = TS.Add(TS.Load(in Unsafe.Add(ref rr, 2 * stride)), TS.Load(in Unsafe.Add(ref bhn, u)));
            TV n = TanhApproximation.Tanh<TS, TV>(TS.MultiplyAdd(r, nhv, TS.Load(in Unsafe.Add(ref xr, 2 * stride))));
            TV hp = TS.Load(in Unsafe.Add(ref hPrev, u));
            ref float gr = ref Unsafe.Add(ref gates, u);
            TS.Store(r, ref gr); TS.Store(z, ref Unsafe.Add(ref gr, stride)); TS.Store(n, ref Unsafe.Add(ref gr, 2 * stride));
            TS.Store(nhv, ref Unsafe.Add(ref nh, u));
            TS.Store(TS.MultiplyAdd(z, hp, TS.Multiply(TS.Subtract(one, z), n)), ref Unsafe.Add(ref h, u));
        }
        return u;
    }

    private static int GruBackward<TS, TV>(ref float gates, nint stride, ref float nh, ref float hPrev, ref float dh, ref float dInput, ref float dRecurrent, ref float dhPrev,
        int start, int count) where TS : ISimd<TV> where TV : struct
    {
        TV one = TS.Create(1f);
        int u = start;
        for (; u <= count - TS.Count; u += TS.Count)
        {
            ref float gr = ref Unsafe.Add(ref gates, u);
            TV r = TS.Load(in gr), z = TS.Load(in Unsafe.Add(ref gr, stride)), n = TS.Load(in Unsafe.Add(ref gr, 2 * stride));
            TV dhv = TS.Load(in Unsafe.Add(ref dh, u));
            TV dan = TS.Multiply(TS.Multiply(dhv, TS.Subtract(one, z)), TS.Subtract(one, TS.Multiply(n, n)));
            TV dar = TS.Multiply(TS.Multiply(dan, TS.Load(in Unsafe.Add(ref nh, u))), TS.Multiply(r, TS.Subtract(one, r)));
            TV daz = TS.Multiply(TS.Multiply(dhv, TS.Subtract(TS.Load(in Unsafe.Add(ref hPrev, u)), n)), TS.Multiply(z, TS.Subtract(one, z)));
            ref float di = ref Unsafe.Add(ref dInput, u);
            ref float dr = ref Unsafe.Add(ref dRecurrent, u);
            TS.Store(dar, ref di); TS.Store(daz, ref Unsafe.Add(ref di, stride)); TS.Store(dan, ref Unsafe.Add(ref di, 2 * stride));
            TS.Store(dar, ref dr); TS.Store(daz, ref Unsafe.Add(ref dr, stride)); TS.Store(TS.Multiply(dan, r), ref Unsafe.Add(ref dr, 2 * stride));
            ref float dp = ref Unsafe.Add(ref dhPrev, u);
            TS.Store(TS.MultiplyAdd(dhv, z, TS.Load(in dp)), ref dp);
        }
        return u;
    }
}
