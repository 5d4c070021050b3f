"""The words of the form pages and of validation problems, in Portuguese and English.

The page language follows the workspace (``settings.language``, else its owner's
``language``, else ``pt-BR``); a language starting with ``en`` gets English, any other
Portuguese. The JSON API always answers in Portuguese without accents, like the rest of it.
"""

from __future__ import annotations

DEFAULT_LANGUAGE = "pt-BR"

PROBLEMS = {
    "pt": {
        "required": "Campo obrigatório.",
        "invalid_number": "Informe um número.",
        "invalid_email": "Informe um e-mail válido.",
        "invalid_date": "Informe uma data no formato aaaa-mm-dd.",
        "invalid_option": "Escolha uma das opções.",
        "invalid_boolean": "Valor inválido para caixa de seleção.",
        "invalid_type": "Valor inválido.",
        "too_long": "Texto longo demais (máximo de {max} caracteres).",
        "unknown_field": "Campo desconhecido.",
    },
    "en": {
        "required": "This field is required.",
        "invalid_number": "Enter a number.",
        "invalid_email": "Enter a valid e-mail address.",
        "invalid_date": "Enter a date as yyyy-mm-dd.",
        "invalid_option": "Choose one of the options.",
        "invalid_boolean": "Invalid checkbox value.",
        "invalid_type": "Invalid value.",
        "too_long": "Text too long (at most {max} characters).",
        "unknown_field": "Unknown field.",
    },
    # the JSON API's messages: Portuguese without accents, like every API message
    "api": {
        "required": "Campo obrigatorio.",
        "invalid_number": "Informe um numero.",
        "invalid_email": "Informe um e-mail valido.",
        "invalid_date": "Informe uma data no formato aaaa-mm-dd.",
        "invalid_option": "Escolha uma das opcoes.",
        "invalid_boolean": "Informe true ou false.",
        "invalid_type": "Valor invalido.",
        "too_long": "Texto longo demais (maximo de {max} caracteres).",
        "unknown_field": "Campo desconhecido.",
    },
}

PAGE = {
    "pt": {
        "required": "obrigatório",
        "required_note": "Campos marcados com * são obrigatórios.",
        "submit": "Enviar",
        "choose": "Selecione…",
        "errors_title": "Corrija os campos indicados.",
        "thanks_title": "Obrigado!",
        "thanks_body": "Recebemos sua resposta.",
        "another": "Enviar outra resposta",
        "not_found_title": "Formulário não encontrado",
        "not_found_body": "Este formulário não existe ou não está mais aceitando respostas.",
        "error_title": "Não foi possível enviar",
        "csrf_body": "A página expirou ou o envio não veio deste formulário. Abra-o de novo.",
        "rate_body": "Muitos envios em pouco tempo. Tente novamente em {retry} segundos.",
        "too_large_body": "O envio é grande demais.",
        "generic_body": "Ocorreu um erro. Tente novamente mais tarde.",
    },
    "en": {
        "required": "required",
        "required_note": "Fields marked * are required.",
        "submit": "Submit",
        "choose": "Choose…",
        "errors_title": "Please fix the fields below.",
        "thanks_title": "Thank you!",
        "thanks_body": "Your answer was received.",
        "another": "Send another answer",
        "not_found_title": "Form not found",
        "not_found_body": "This form does not exist or no longer accepts answers.",
        "error_title": "Could not send",
        "csrf_body": "The page expired or the submission did not come from this form. "
        "Open it again.",
        "rate_body": "Too many submissions. Try again in {retry} seconds.",
        "too_large_body": "The submission is too large.",
        "generic_body": "Something went wrong. Please try again later.",
    },
}


def texts_key(language: str | None) -> str:
    """Return ``en`` for English languages, else ``pt``."""
    return "en" if str(language or "").lower().startswith("en") else "pt"


def html_lang(language: str | None) -> str:
    """Return the ``<html lang>`` value: the stored tag when it looks like one, else pt-BR."""
    value = str(language or "").strip()
    if value and len(value) <= 10 and all(c.isalnum() or c == "-" for c in value):
        return value
    return DEFAULT_LANGUAGE


def problem_messages(
    errors: dict[str, list[str]], limits: dict[str, int | None], key: str
) -> dict[str, list[str]]:
    """Word problem codes in language ``key`` (``pt``, ``en`` or ``api``)."""
    words = PROBLEMS[key]
    return {
        field: [words[code].format(max=limits.get(field) or "") for code in codes]
        for field, codes in errors.items()
    }
