using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;

namespace CharRnn.Fast.Model;

/// <summary>
/// xoshiro256** — a small, fast, seedable generator whose whole state is four words, so a checkpoint can store it
/// and resumed training draws exactly the numbers an uninterrupted run would. Seeded through SplitMix64.
/// Not thread-safe: give each thread its own.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>A generator seeded with <paramref name="seed"/>; equal seeds give equal streams.</summary>
    public Rng(ulong seed) => Reseed(seed);

    /// <summary>Restarts the stream from <paramref name="seed"/>, exactly as a new generator with that seed starts.</summary>
    internal void Reseed(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>Takes <paramref name="source"/>'s state: both then draw the same numbers (a snapshot to return to).</summary>
    internal void CopyFrom(Rng source) => (_s0, _s1, _s2, _s3) = (source._s0, source._s1, source._s2, source._s3);

    /// <summary>Bytes of <see cref="WriteState"/>: the four words.</summary>
    internal const int StateBytes = 32;

    /// <summary>The four words, little-endian, into <paramref name="state"/> ([32] bytes); no allocation.</summary>
    internal void WriteState(Span<byte> state)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(state, _s0);
        BinaryPrimitives.WriteUInt64LittleEndian(state[8..], _s1);
        BinaryPrimitives.WriteUInt64LittleEndian(state[16..], _s2);
        BinaryPrimitives.WriteUInt64LittleEndian(state[24..], _s3);
    }

    /// <summary>Takes the words <see cref="WriteState"/> wrote (the caller has checked they are not all zero).</summary>
    internal void ReadState(ReadOnlySpan<byte> state)
    {
        _s0 = BinaryPrimitives.ReadUInt64LittleEndian(state);
        _s1 = BinaryPrimitives.ReadUInt64LittleEndian(state[8..]);
        _s2 = BinaryPrimitives.ReadUInt64LittleEndian(state[16..]);
        _s3 = BinaryPrimitives.ReadUInt64LittleEndian(state[24..]);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal N(0, 1) by Box–Muller (one value per call, two uniforms drawn).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]: log is finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>The state as 64 hex digits (for checkpoints).</summary>
    public string SaveState() => string.Create(CultureInfo.InvariantCulture, $"{_s0:x16}{_s1:x16}{_s2:x16}{_s3:x16}");

    /// <summary>Restores a state written by <see cref="SaveState"/>.</summary>
    public static Rng FromState(string state)
    {
        if (state is null || state.Length != 64)
            throw new FormatException("an RNG state is 64 hex digits");
        var rng = new Rng(0);
        rng._s0 = ulong.Parse(state.AsSpan(0, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        rng._s1 = ulong.Parse(state.AsSpan(16, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        rng._s2 = ulong.Parse(state.AsSpan(32, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        rng._s3 = ulong.Parse(state.AsSpan(48, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if ((rng._s0 | rng._s1 | rng._s2 | rng._s3) == 0) throw new FormatException("an all-zero RNG state is invalid");
        return rng;
    }
}
