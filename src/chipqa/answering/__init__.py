"""From a question and retrieved passages to a verified, cited answer."""
