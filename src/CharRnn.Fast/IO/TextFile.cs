using System.Buffers;
using System.Text;

namespace CharRnn.Fast.IO;

/// <summary>Reads training and evaluation text as strict UTF-8, reporting the byte offset of the first invalid byte.</summary>
public static class TextFile
{
    /// <summary>
    /// The text of <paramref name="path"/> without a leading BOM. Invalid UTF-8 throws <see cref="TextInputException"/>
    /// naming the byte offset, unless <paramref name="replaceInvalid"/> (then invalid bytes become U+FFFD).
    /// </summary>
    public static string ReadUtf8(string path, bool replaceInvalid = false)
    {
        if (Directory.Exists(path)) throw new TextInputException($"input '{path}' is a directory, not a text file");
        if (!File.Exists(path)) throw new TextInputException($"input file '{path}' does not exist");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new TextInputException($"cannot read '{path}': {FileErrors.Reason(e, path)}"); }
        return DecodeUtf8(bytes, path, replaceInvalid);
    }

    /// <summary>Decodes <paramref name="bytes"/> as <see cref="ReadUtf8"/> does; <paramref name="sourceName"/> names it in errors.</summary>
    public static string DecodeUtf8(ReadOnlySpan<byte> bytes, string sourceName, bool replaceInvalid = false)
    {
        int bom = bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        bytes = bytes[bom..];
        if (!replaceInvalid)
        {
            var chars = ArrayPool<char>.Shared.Rent(Math.Max(1, bytes.Length));
            try
            {
                var status = System.Text.Unicode.Utf8.ToUtf16(bytes, chars, out int read, out _, replaceInvalidSequences: false);
                if (status != OperationStatus.Done)
                    throw new TextInputException(InvalidUtf8Message(sourceName, bytes[read], bom + read));
            }
            finally { ArrayPool<char>.Shared.Return(chars); }
        }
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>The error for an invalid byte <paramref name="value"/> at byte <paramref name="offset"/> of <paramref name="sourceName"/>.</summary>
    internal static string InvalidUtf8Message(string sourceName, byte value, long offset) =>
        $"'{sourceName}' is not valid UTF-8: byte 0x{value:X2} at byte offset {offset} does not start or continue a character (pass --replace-invalid to replace invalid bytes with U+FFFD)";
}
