namespace CharRnn.Fast.Data;

/// <summary>Consumes a corpus as a stream of UTF-16 chunks, file after file.</summary>
internal abstract class TextChunkSink
{
    /// <summary>The next chunk of text; a surrogate pair is never split between two chunks.</summary>
    public abstract void Write(ReadOnlySpan<char> text);

    /// <summary>The end of one input file.</summary>
    public virtual void EndOfFile() { }
}
