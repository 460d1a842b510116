"""Model properties that keep a value encrypted in a binary column under its project's data key."""

from collections.abc import Callable

from governance import keyring
from governance.crypto import FieldCipher, sealed_version

# ``item.text = "..."`` seals the value at once (associated data naming project, column and row)
# into ``text_ct``; reading ``item.text`` opens it on first use and remembers the plaintext for as
# long as that same ciphertext object is on the instance (refresh_from_db loads a new one).
# Django's Model(**kwargs) sets properties after the foreign keys, so ``Item(project=p, text=...)``
# and ``Annotation.objects.create(..., value=...)`` work as before. Reassign a JSON value to change
# it: a dict mutated in place is not sealed again.


def _encrypted_property(
    column: str,
    *,
    seal: Callable,
    open_: Callable,
    empty: Callable,
    row: Callable[[object], tuple],
    on_set: Callable | None = None,
) -> "EncryptedProperty":
    name = column.removesuffix("_ct")
    remembered = f"_{name}_plaintext"

    def place(obj, cipher: FieldCipher) -> bytes:
        parts = row(obj)
        if any(part in (None, "") for part in parts):
            raise ValueError(
                f"{type(obj).__name__}.{name}: set the row's keys {parts} before the value."
            )
        return cipher.context(f"{obj._meta.model_name}.{name}", *parts)

    def opened(model, project_id: int, blob, parts: tuple):
        if not blob:
            return empty()
        if any(part in (None, "") for part in parts):
            raise ValueError(f"{model.__name__}.{name}: the row's keys {parts} are missing.")
        cipher = keyring.project_cipher(project_id)
        return open_(cipher, blob, cipher.context(f"{model._meta.model_name}.{name}", *parts))

    def fget(obj):
        blob = getattr(obj, column)
        if not blob:
            return empty()
        memo = obj.__dict__.get(remembered)
        if memo is not None and memo[0] is blob:
            return memo[1]
        value = opened(type(obj), obj.project_id, blob, row(obj))
        obj.__dict__[remembered] = (blob, value)
        return value

    def fset(obj, value):
        if obj.project_id is None:
            raise ValueError(
                f"{type(obj).__name__}.{name}: set the project first; its key encrypts the value."
            )
        cipher = keyring.project_cipher(obj.project_id)
        if on_set is not None:
            on_set(obj, cipher, value)
        blob = seal(cipher, value, place(obj, cipher))
        setattr(obj, column, blob)
        obj.__dict__[remembered] = (blob, value)

    prop = EncryptedProperty(
        fget, fset, doc=f"Plaintext of {column}, sealed under the project's data key."
    )
    prop.opener = opened
    prop.column, prop.name, prop.row = column, name, row
    prop.sealer, prop.open_ = seal, open_
    return prop


class EncryptedProperty(property):
    """An encrypted column's property; ``Model.<name>.opened(project_id, blob, *row keys)`` opens a
    value read without its instance (``values_list`` in bulk reads such as exports), with the same
    key and associated data as ``instance.<name>``."""

    def __set_name__(self, owner, name: str) -> None:
        self.model = owner

    def opened(self, project_id: int, blob, *parts):
        return self.opener(self.model, project_id, blob, parts)

    def resealed(self, obj, cipher: FieldCipher) -> bytes | None:
        """``obj``'s ciphertext sealed again under ``cipher``'s primary key version; None when it
        is empty or already there. The value and its place (associated data) do not change."""
        blob = getattr(obj, self.column)
        if not blob or sealed_version(blob) == cipher.key_version:
            return None
        place = cipher.context(f"{self.model._meta.model_name}.{self.name}", *self.row(obj))
        return self.sealer(cipher, self.open_(cipher, blob, place), place)


def encrypted_properties() -> list[EncryptedProperty]:
    """Every encrypted column of every installed model (the re-encryption job's list)."""
    from django.apps import apps

    return [
        attr
        for model in apps.get_models()
        for attr in vars(model).values()
        if isinstance(attr, EncryptedProperty)
    ]


def encrypted_text(column: str, *, row=lambda obj: (), on_set=None) -> property:
    return _encrypted_property(
        column,
        seal=lambda cipher, value, place: cipher.seal_text(str(value), place),
        open_=FieldCipher.open_text,
        empty=str,
        row=row,
        on_set=on_set,
    )


def encrypted_json(column: str, *, row=lambda obj: (), empty=dict) -> property:
    return _encrypted_property(
        column, seal=FieldCipher.seal_json, open_=FieldCipher.open_json, empty=empty, row=row
    )
