using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace CharRnn.Fast.Inference;

/// <summary>
/// How the next token is drawn from p = softmax(logits / temperature): <see cref="Greedy"/> (or temperature 0) takes the
/// argmax; <see cref="TopK"/> &gt; 0 keeps the k most likely; <see cref="TopP"/> &lt; 1 keeps the smallest set of most
/// likely tokens whose mass reaches p (both may apply; top-k first). The generator checks them on every draw
/// (<see cref="Validate"/>: a few compares).
/// </summary>
public readonly record struct SamplingOptions(double Temperature = 1.0, int TopK = 0, double TopP = 1.0, bool Greedy = false)
{
    /// <summary>Plain sampling at temperature 1 (without this, <c>new SamplingOptions()</c> would be all zeros: greedy).</summary>
    public SamplingOptions() : this(1.0) { }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> for a temperature that is negative, NaN or infinite, a negative k, or p
    /// outside (0, 1] (NaN included). The message starts with the option's name as the <c>charrnn</c> flags spell it
    /// ("temperature", "top-k", "top-p"), so front ends can point at their own spelling of it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Validate()
    {
        // written so that NaN fails every test
        if (!(Temperature >= 0 && Temperature <= double.MaxValue && TopK >= 0 && TopP > 0 && TopP <= 1)) ThrowInvalid(this);
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="temperature"/> is a finite number &gt; 0 (the divisor of the logits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ValidateTemperature(double temperature)
    {
        if (!(temperature > 0 && temperature <= double.MaxValue)) ThrowInvalidTemperature(temperature, "> 0");
    }

    /// <summary>True when the draw is an argmax.</summary>
    public bool IsGreedy => Greedy || Temperature == 0 || TopK == 1;

    /// <summary>
    /// 1 / temperature as the float softmax scales by, held at <see cref="float.MaxValue"/> for temperatures so small
    /// that it would overflow (below about 3e-39). Where the logits times it overflow, the softmax puts all the mass on
    /// the largest logit: the limit as the temperature goes to 0, not NaN.
    /// </summary>
    internal static float InverseTemperature(double temperature) => (float)Math.Min(1.0 / temperature, float.MaxValue);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowInvalid(SamplingOptions o)
    {
        if (!(o.Temperature >= 0 && o.Temperature <= double.MaxValue)) ThrowInvalidTemperature(o.Temperature, "≥ 0");
        if (o.TopK < 0) throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"top-k must be ≥ 0 (0 = off), got {o.TopK}"));
        throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"top-p must be in (0, 1] (1 = off), got {o.TopP}"));
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowInvalidTemperature(double temperature, string range)
        => throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"temperature must be a finite number {range}, got {temperature}"));
}
