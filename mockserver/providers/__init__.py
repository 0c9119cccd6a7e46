"""Provider wire formats: each module knows one provider's requests, answers and wording."""
