namespace CharRnn.Fast.Inference;

/// <summary>
/// How the next token is drawn from p = softmax(logits / temperature): <see cref="Greedy"/> (or temperature 0) takes the
/// argmax; <see cref="TopK"/> &gt; 0 keeps the k most likely; <see cref="TopP"/> &lt; 1 keeps the smallest set of most
/// likely tokens whose mass reaches p (both may apply; top-k first).
/// </summary>
public readonly record struct SamplingOptions(double Temperature = 1.0, int TopK = 0, double TopP = 1.0, bool Greedy = false)
{
    /// <summary>Plain sampling at temperature 1 (without this, <c>new SamplingOptions()</c> would be all zeros: greedy).</summary>
    public SamplingOptions() : this(1.0) { }

    /// <summary>Throws <see cref="ArgumentException"/> for a negative temperature, negative k or p outside (0, 1].</summary>
    public void Validate()
    {
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) throw new ArgumentException($"temperature must be a finite number ≥ 0 (got {Temperature})");
        if (TopK < 0) throw new ArgumentException($"top-k must be ≥ 0 (got {TopK})");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"top-p must be in (0, 1] (got {TopP})");
    }

    /// <summary>True when the draw is an argmax.</summary>
    public bool IsGreedy => Greedy || Temperature == 0 || TopK == 1;
}
