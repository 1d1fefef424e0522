"""The account: login and logout, the account page, registration, email and password."""
