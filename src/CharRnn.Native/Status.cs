namespace CharRnn.Native;

/// <summary>Status codes of the C ABI (charrnn_status in charrnn.h).</summary>
internal enum Status
{
    Ok = 0,
    InvalidArgument = 1,
    InvalidHandle = 2,
    IoError = 3,
    FormatError = 4,
    UnknownCharacter = 5,
    BufferTooSmall = 6,
    StateMismatch = 7,
    Internal = 99,
}

/// <summary>The last error message of each thread, as NUL-terminated UTF-8 owned by the library.</summary>
internal static unsafe class LastError
{
    [ThreadStatic] private static byte[]? _message;

    public static Status Set(Status status, string message)
    {
        _message = System.Text.Encoding.UTF8.GetBytes(message + "\0");
        return status;
    }

    public static void Clear() => _message = null;

    public static byte[]? Message => _message;
}
