import pytest

from tokenoptimizer.db.secrets import SecretUnreadable, decrypt_secret, encrypt_secret, mask_secret


def test_round_trip_and_ciphertext_hides_the_secret() -> None:
    token = encrypt_secret("server-key-1", "sk-live-abcdef123456")
    assert "abcdef" not in token
    assert decrypt_secret("server-key-1", token) == "sk-live-abcdef123456"


def test_another_server_key_cannot_read_it() -> None:
    token = encrypt_secret("server-key-1", "sk-live-abcdef123456")
    with pytest.raises(SecretUnreadable, match="SECRET_KEY changed"):
        decrypt_secret("server-key-2", token)


def test_mask_shows_only_the_end() -> None:
    assert mask_secret("sk-live-abcdef123456") == "…3456"
    assert mask_secret("short") == "…"
