"""The rules, one function per rule id of DOMAIN.md, grouped as DOMAIN.md groups them."""
