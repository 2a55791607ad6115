using CharRnn.Fast.Data;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>Mean cross-entropy of a model over a text.</summary>
/// <param name="NatsPerChar">mean −ln p per prediction</param>
/// <param name="Predictions">N − 1 next-character predictions</param>
public readonly record struct Evaluation(double NatsPerChar, long Predictions)
{
    public double BitsPerChar => NatsPerChar / Math.Log(2);
    public double Perplexity => Math.Exp(NatsPerChar);
}

/// <summary>Evaluates a model on every next-character prediction of an in-memory token sequence.</summary>
public static class Evaluator
{
    /// <summary>
    /// Mean −ln p(token_{i+1} | token_0..i) over i = 0..N−2, the hidden state starting at zero and carried across the
    /// whole sequence (reset at boundary tokens in sequence models): <see cref="BatchedEvaluator"/> with one stream.
    /// Processed in chunks of <paramref name="chunk"/>; <paramref name="cancellation"/> is checked before each one (a
    /// long pass stops within a chunk of a request), and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public static Evaluation Evaluate(CharRnnModel model, ReadOnlySpan<int> tokens, int chunk = 512, Kernels.KernelPolicy? policy = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (tokens.Length < 2) throw new ArgumentException($"evaluation needs at least 2 characters (got {tokens.Length})");
        using var evaluator = new BatchedEvaluator(model, streams: 1, Math.Min(chunk, tokens.Length - 1), threads: 1, policy);
        return evaluator.Evaluate(new ArrayTokenSource(tokens.ToArray(), model.VocabularySize), cancellation: cancellation);
    }
}
