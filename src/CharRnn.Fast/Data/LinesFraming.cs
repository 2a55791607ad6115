namespace CharRnn.Fast.Data;

/// <summary>
/// The lines framing of sequence models, streamed: every non-empty line is framed by the boundary '\n'
/// ("\nanna\nbob\n"), and the end of each file ends its last line. A line ends at '\n', at "\r\n" and at a lone
/// '\r' (classic Mac OS text): '\r' and '\n' both end a line and empty lines are skipped, so "\r\n" ends one line
/// even when a chunk boundary falls between its two characters. The result equals the CLI's whole-string framing of
/// the files' texts joined by '\n'.
/// </summary>
internal sealed class LinesFraming(TextChunkSink inner) : TextChunkSink
{
    private char[] _framed = [];
    private bool _started;  // the opening boundary has been written
    private bool _lineOpen; // the current line has a character and still needs its closing boundary

    public override void Write(ReadOnlySpan<char> text)
    {
        if (_framed.Length < text.Length + 1) _framed = new char[text.Length + 1]; // a chunk grows by the opening '\n' at most
        var framed = _framed.AsSpan();
        int n = 0;
        while (!text.IsEmpty)
        {
            // Copy the run up to the next line break whole (a vectorized search), then handle the break.
            int stop = text.IndexOfAny('\r', '\n');
            var run = stop < 0 ? text : text[..stop];
            if (!run.IsEmpty)
            {
                if (!_started) { framed[n++] = '\n'; _started = true; }
                run.CopyTo(framed[n..]);
                n += run.Length;
                _lineOpen = true;
            }
            if (stop < 0) break;
            if (_lineOpen)
            {
                framed[n++] = '\n';
                _lineOpen = false;
            }
            text = text[(stop + 1)..];
        }
        if (n > 0) inner.Write(framed[..n]);
    }

    public override void EndOfFile()
    {
        if (_lineOpen) inner.Write("\n");
        _lineOpen = false;
        inner.EndOfFile();
    }
}
