namespace CharRnn.Fast.Training;

/// <summary>
/// The data order of training (a contract, see README): the token stream is cut into B contiguous shards of
/// S = ⌊(N−1)/B⌋ tokens; step k of an epoch gives stream b the inputs shard_b[k·T .. k·T+T) and the targets shifted by
/// one (min-char-rnn's order at B = 1, char-rnn's at B &gt; 1). An epoch has ⌊S/T⌋ steps.
/// </summary>
public sealed class TokenStream
{
    private readonly int[] _tokens;

    /// <summary>Throws <see cref="ArgumentException"/> when the text is too short for one step.</summary>
    public TokenStream(int[] tokens, int sequenceLength, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Length == 0) throw new ArgumentException("the training text is empty");
        long needed = (long)sequenceLength * batchSize + 1;
        if (tokens.Length < needed)
            throw new ArgumentException($"the training text has {tokens.Length} characters; one step of {batchSize} stream(s) × {sequenceLength} characters needs at least {needed}: use a longer text, or a smaller --seq-len or --batch");
        _tokens = tokens;
        SequenceLength = sequenceLength;
        BatchSize = batchSize;
        ShardLength = (tokens.Length - 1) / batchSize;
        StepsPerEpoch = ShardLength / sequenceLength;
    }

    public int SequenceLength { get; }
    public int BatchSize { get; }
    public int ShardLength { get; }
    public int StepsPerEpoch { get; }

    /// <summary>Fills inputs and targets, both [T,B] t-major, for step <paramref name="stepInEpoch"/>.</summary>
    public void Fill(int stepInEpoch, Span<int> inputs, Span<int> targets) => Fill(stepInEpoch, 0, BatchSize, inputs, targets);

    /// <summary>
    /// Fills inputs and targets, both [T,count] t-major, with streams firstStream..firstStream+count−1 of step
    /// <paramref name="stepInEpoch"/> (one worker's share of the batch).
    /// </summary>
    public void Fill(int stepInEpoch, int firstStream, int count, Span<int> inputs, Span<int> targets)
    {
        if ((uint)stepInEpoch >= (uint)StepsPerEpoch) throw new ArgumentOutOfRangeException(nameof(stepInEpoch));
        if (firstStream < 0 || count < 1 || firstStream + count > BatchSize) throw new ArgumentOutOfRangeException(nameof(count));
        int t0 = stepInEpoch * SequenceLength;
        for (int t = 0; t < SequenceLength; t++)
            for (int b = 0; b < count; b++)
            {
                int pos = (firstStream + b) * ShardLength + t0 + t;
                inputs[t * count + b] = _tokens[pos];
                targets[t * count + b] = _tokens[pos + 1];
            }
    }
}
